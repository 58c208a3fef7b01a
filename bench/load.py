"""Bounded HTTP load on ``langzhong serve`` over loopback (see langzhong.benchmark.http).

Usage: python bench/load.py [--seconds 60] [--concurrency 32] [--home DIR] [--json OUT]
"""

from langzhong.benchmark.http import main

if __name__ == "__main__":
    main()
