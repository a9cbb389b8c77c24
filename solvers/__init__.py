"""Solvers: forced-choice prompting, framing arms and paired generation."""
