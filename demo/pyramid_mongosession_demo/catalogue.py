"""What the shop sells; prices in cents."""
from typing import Dict, NamedTuple


class Product(NamedTuple):
    name: str
    price: int


PRODUCTS: Dict[str, Product] = {
    "teapot": Product("Teapot", 2400),
    "mug": Product("Mug", 900),
    "kettle": Product("Kettle", 3900),
    "tea-tin": Product("Tea tin", 1200),
    "strainer": Product("Strainer", 500),
    "cosy": Product("Tea cosy", 1500),
}


def euros(cents: int) -> str:
    return f"€{cents // 100}.{cents % 100:02d}"
