"""``fusion`` command line with the test plugin registered, for subprocesses (e.g. under torchrun).

A subprocess cannot see plugins registered in the pytest process, so this module registers
:class:`tests.fakes.FakePlugin` itself, then runs the CLI::

    python -m torch.distributed.run --nproc-per-node 2 -m tests.distributed_runner train ...
"""

import torch

from fusion.cli import main
from fusion.plugins import register_plugin
from tests.fakes import FakePlugin

if __name__ == "__main__":
    torch.set_num_threads(1)
    register_plugin(FakePlugin(), name="fakes")
    main()
