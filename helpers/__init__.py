"""Speech Lab helpers: the code the notebooks explain, kept importable.

Importing ``helpers`` is cheap: every module imports its heavy libraries (torch,
transformers, speechbrain, ...) inside the functions that need them, so a notebook
that only prepares audio never pays for loading a speech model.

Modules, one per stage of the story:

- ``config``     profiles, parameters, ``setup()`` (device, precision, seeds, versions)
- ``files``      atomic writes, so an interrupted run never leaves half a file behind
- ``results``    each notebook's key figures, gathered into ``results.json``
- ``models``     one id-or-path mechanism for every model (hub id online, local path offline)
- ``standins``   small offline stand-ins for models no package ships (SpeechT5, HiFi-GAN, x-vector)
"""

__version__ = "0.1.0"
