"""Collecting evidence from a live racoon box (or a sysroot): see :mod:`racoondbg.live.collect`.

Modules: ``platforms`` (detection, per-platform places and tools), ``runner`` (commands without a
shell, with timeouts, recorded; sysroot lookups), ``tables`` (ss/sockstat/netstat/lsof/ps/sysctl
output), ``logs`` (the recent part of a log), ``collect`` (the collector), ``manifest`` (reading a
collection back as evidence). README.md documents the collection layout and the sysroot convention.
"""
