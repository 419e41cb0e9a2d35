from setuptools import find_packages, setup

setup(
    name="pyramid_mongosession_demo",
    version="0.1.0",
    description="A small shop showing pyramid_mongosession at work",
    license="MIT",
    packages=find_packages(),
    package_data={"pyramid_mongosession_demo": ["templates/*.jinja2", "static/*"]},
    zip_safe=False,
    python_requires=">=3.11",
    install_requires=[
        "pyramid_mongosession",
        "pyramid_jinja2",
        "waitress",
        # The embedded database, used when mongosession.url = embedded.
        "SecantusDB >= 0.7.0b3",
    ],
    entry_points={"paste.app_factory": ["main = pyramid_mongosession_demo:main"]},
)
