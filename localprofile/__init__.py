"""localprofile: Serious and Organised Crime local profiles from open and force data.

Data flows one way: catalog -> layer adapters -> study area -> engine -> Profile -> renderers.
"""

__version__ = "0.1.0"


def collect_less() -> None:
    """Have the garbage collector start a pass every 10,000 new container objects, not
    Python's default of 700, in this process: a build makes hundreds of thousands of
    short-lived ones (geometries, rows of JSON), and at 700 its 800 passes, five of them over
    every live geometry, took 0.28 s of a Leeds build (0.10-0.12 s at 10,000, timed with
    ``gc.callbacks``; peak memory the same, 587 and 592 MB). Process-wide, so only processes
    that do builds call it: the command line, before its imports, and
    :func:`localprofile.batch.freeze_imports` (``build-all``'s workers, those of a cluster
    given by ``--scheduler`` too). Here, in the package's first module, because the command
    line calls it before importing anything else."""
    import gc

    gc.set_threshold(10_000, *gc.get_threshold()[1:])
