"""Register your own acoustic encoder in-process (no package, no entry point) and train with it.

    python examples/register_plugin_inprocess.py --out runs/example-plugin

The script defines an encoder (log band energies + spectral flux -> 1-D conv), a plugin object
whose ``@fusion.hookimpl`` registers it, registers the plugin with
``fusion.plugins.register_plugin``, shows it in the component listing (what ``fusion plugins``
prints), runs the ablation (audio-only and fused, speaker-independent folds, gold transcripts and
the ``gru`` text encoder: no pretrained weights) on the bundled ``demo`` corpus (about 5 minutes
on one CPU core), and unregisters the plugin. A quicker run:
``--speakers s01,s02,s03,s04 --folds 2 --epochs 1`` (each fold needs two training speakers
besides its test speakers: one of them becomes the validation speaker).
To ship such an encoder as a package instead, see examples/custom-encoder-plugin/.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

import fusion
from fusion import plugins
from fusion.runners import run_ablation
from fusion.components import AcousticEncoder, Encoded, lengths_to_mask, masked_mean
from fusion.errors import ConfigError, PluginError
from fusion.experiment import ExperimentConfig
from fusion.training.trainer import TrainConfig

ENCODER = "spectral-flux"
PLUGIN = "example-inprocess"


class SpectralFluxEncoder(AcousticEncoder):
    """featurize: log energies of ``bands`` frequency bands per frame (minus the clip mean) and their
    rise from the previous frame (spectral flux); forward: 1-D conv over time -> masked mean."""

    name = ENCODER

    @dataclass(frozen=True)
    class Config:
        n_fft: int = 512     # STFT window (samples at 16 kHz); n_fft // 2 must be a multiple of bands
        hop: int = 160       # frame hop in samples (10 ms)
        bands: int = 16      # equal-width frequency bands
        dim: int = 32        # output dimension D
        kernel_size: int = 5  # conv kernel over frames (odd)

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = c = config or self.Config()
        if c.bands < 1 or (c.n_fft // 2) % c.bands or c.hop < 1 or c.kernel_size % 2 == 0 or c.dim < 1:
            raise ConfigError(f"acoustic encoder {ENCODER!r}: need n_fft // 2 divisible by bands, hop >= 1, "
                              f"an odd kernel_size and dim >= 1; got {c}")
        self.output_dim = c.dim
        self.conv = nn.Conv1d(2 * c.bands, c.dim, c.kernel_size, padding=c.kernel_size // 2)

    def featurize(self, wav: Tensor) -> Tensor:
        c = self.config
        wav = torch.as_tensor(wav, dtype=torch.float32)                                  # [S]
        if len(wav) < c.n_fft:
            wav = nn.functional.pad(wav, (0, c.n_fft - len(wav)))
        spec = torch.stft(wav, c.n_fft, c.hop, window=torch.hann_window(c.n_fft), center=False,
                          return_complex=True).abs() ** 2                                  # [n_fft/2 + 1, T]
        bands = spec[: c.n_fft // 2].reshape(c.bands, -1, spec.shape[1]).mean(1)           # [bands, T]
        level = torch.log(bands + 1e-8).T                                                 # [T, bands]
        flux = torch.relu(torch.diff(level, dim=0, prepend=level[:1]))                    # [T, bands]
        return torch.cat([level - level.mean(0), flux], dim=1)                            # [T, 2 * bands]

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        mask = lengths_to_mask(lengths, feats.shape[1])                                   # [B, T]
        feats = feats.masked_fill(~mask.unsqueeze(-1), 0.0)                               # [B, T, 2 * bands]
        seq = nn.functional.gelu(self.conv(feats.transpose(1, 2))).transpose(1, 2)        # [B, T, D]
        return Encoded(seq, mask, masked_mean(seq, mask))


class InProcessPlugin:
    """The plugin: an object (or module) with hook implementations, as an entry point would provide."""

    @fusion.hookimpl
    def register_acoustic_encoders(self, register):
        register(ENCODER, SpectralFluxEncoder, aliases=("flux",), description="band energies + spectral flux")


@contextmanager
def registered(plugin: object, name: str) -> Iterator[str]:
    """Register ``plugin`` for the duration of the block; it is unregistered even on an error."""
    if plugins.pm.has_plugin(name):
        raise PluginError(f"a plugin named {name!r} is already registered")
    name = plugins.register_plugin(plugin, name=name)
    try:
        component = fusion.get_acoustic_encoder(ENCODER)  # raises when the plugin was rejected
        if component.plugin != name:
            raise PluginError(f"acoustic encoder {ENCODER!r} is already provided by plugin {component.plugin!r}")
        yield name
    finally:
        plugins.unregister_plugin(name)


def listing(name: str) -> dict:
    """The plugin's row of the component listing (``fusion plugins``)."""
    row = next(r for r in plugins.plugin_report() if r["name"] == name)
    print(f"{row['name']}  {row['distribution']}")
    for kind, names in row["components"].items():
        print(f"    {kind.replace('_', ' ')}: {', '.join(names)}")
    return row


def main(argv=None) -> dict:
    """Register, list, run the ablation, unregister; returns the listing row and the results."""
    args = parse_args(argv)
    cfg = ExperimentConfig(
        dataset="demo", modes=tuple(args.modes.split(",")), acoustic_encoder=ENCODER,
        acoustic_config={"dim": args.dim}, text_encoder="gru", transcriber="gold", folds=args.folds,
        speakers=tuple(args.speakers.split(",")) if args.speakers else None,
        train=TrainConfig(epochs=args.epochs, seed=args.seed))
    with registered(InProcessPlugin(), PLUGIN) as name:
        row = listing(name)
        results = run_ablation(cfg, args.out, log=lambda msg: print(msg, file=sys.stderr))
    for mode, entry in results["modes"].items():
        print(f"{mode:>5}: UA {100 * entry['ua']['mean']:.1f} +- {100 * entry['ua']['std']:.1f}%  "
              f"(per fold {', '.join(f'{100 * x:.1f}' for x in entry['ua']['per_fold'])})")
    audio = results["cache"]["audio"]
    print(f"{ENCODER}: {audio['computed']} clips featurized, {audio['cached']} read from the cache; "
          f"report: {args.out}/report.md")
    return {"listing": row, "results": results}


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default="runs/example-plugin", help="run directory of the ablation")
    parser.add_argument("--modes", default="audio,fused", help="comma-separated subset of audio,text,fused")
    parser.add_argument("--folds", type=int, default=4, help="speaker-independent folds")
    parser.add_argument("--epochs", type=int, default=10, help="maximum epochs")
    parser.add_argument("--speakers", help="comma-separated speaker subset; None = all")
    parser.add_argument("--dim", type=int, default=32, help="output dimension of the encoder")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        main()
    except fusion.FusionError as exc:
        sys.exit(f"error: {exc}")
