"""The whole local stack run from a program: shared by the benchmark and the fault injection."""
