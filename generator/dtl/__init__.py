"""What every part of pipegen knows about DTL itself: the catalog of the reference's functions, which the
rule builder, the simulator's engine, validate's lint and qa's reader all read."""
