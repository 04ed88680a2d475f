from stackferry import __version__ as __version__
