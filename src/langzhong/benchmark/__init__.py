"""Benchmark stage: speed, size and memory beside the engines a user could pick instead."""
