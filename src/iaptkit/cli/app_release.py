"""The ``iaptkit release`` commands: keygen, build, protect, verify (options parsed here).

The work is done in :mod:`iaptkit.cli.release` (imported inside each command so that
``iaptkit --help`` is fast); user errors print one line without a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from iaptkit.cli.reporting import run_user_command

__all__ = ["release_app"]

release_app = typer.Typer(
    help="Build and verify an export bundle from a release folder.",
    no_args_is_help=True,
)


@release_app.command("keygen")
def release_keygen(
    key: Annotated[
        Optional[Path],
        typer.Option(
            help="Where to write the private key (default $IAPTKIT_KEY or "
            "~/.config/iaptkit/release-key.pem; the public key goes beside it as .pub)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing key.")] = False,
) -> None:
    """Make an Ed25519 signing key (mode 0600) for 'release build'; never put it in an export."""
    from iaptkit.cli.release import keygen_command

    code = run_user_command(lambda: keygen_command(key, force=force))
    raise typer.Exit(code=code)


_Previous = Annotated[
    Optional[list[Path]], typer.Option(help="An earlier export (folder or zip) joining the audit.")
]


@release_app.command("build")
def release_build(
    release_dir: Annotated[
        Path, typer.Argument(help="The release folder (inside the environment).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Export folder to create.")],
    key: Annotated[
        Optional[Path],
        typer.Option(
            help="Signing key (default $IAPTKIT_KEY or ~/.config/iaptkit/release-key.pem)"
        ),
    ] = None,
    unsigned: Annotated[
        bool, typer.Option(help="Build without a signature (verify then needs --allow-unsigned).")
    ] = False,
    joint_protection: Annotated[bool, typer.Option(help="Protect linked outputs jointly.")] = True,
    previous: _Previous = None,
) -> None:
    """Bundle releasable outputs with manifest, results.json, report.html and a signed seal."""
    from iaptkit.cli.release import build_command

    code = run_user_command(
        lambda: build_command(
            release_dir,
            output,
            key=key,
            unsigned=unsigned,
            joint_protection=joint_protection,
            previous=tuple(previous or ()),
        )
    )
    raise typer.Exit(code=code)


@release_app.command("protect")
def release_protect(
    release_dir: Annotated[Path, typer.Argument(help="The release folder.")],
    previous: _Previous = None,
) -> None:
    """Protect the release's outputs jointly now (what 'release build' does first)."""
    from iaptkit.cli.release import protect_command

    code = run_user_command(lambda: protect_command(release_dir, previous=tuple(previous or ())))
    raise typer.Exit(code=code)


@release_app.command("verify")
def release_verify(
    export_dir: Annotated[Path, typer.Argument(help="An export folder made by 'release build'.")],
    allow_unsigned: Annotated[
        bool, typer.Option(help="Accept an export built with --unsigned (and say so).")
    ] = False,
    public_key: Annotated[
        Optional[Path], typer.Option(help="Require the seal to be signed by this public key.")
    ] = None,
    against: Annotated[
        Optional[Path],
        typer.Option(help="Also compare with the register of this release folder."),
    ] = None,
) -> None:
    """Check the seal, every file, the file checks and recorded statuses of an export."""
    from iaptkit.cli.release import verify_command

    code = run_user_command(
        lambda: verify_command(
            export_dir, allow_unsigned=allow_unsigned, public_key=public_key, against=against
        )
    )
    raise typer.Exit(code=code)
