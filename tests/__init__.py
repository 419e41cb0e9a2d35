import os

#: The repository.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
