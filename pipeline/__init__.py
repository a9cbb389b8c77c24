"""The `utility-gap` command: the one-command pipeline and the stage subcommands."""
