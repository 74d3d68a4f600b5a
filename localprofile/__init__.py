"""localprofile: Serious and Organised Crime local profiles from open and force data.

Data flows one way: catalog -> layer adapters -> study area -> engine -> Profile -> renderers.
"""

__version__ = "0.1.0"
