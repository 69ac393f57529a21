"""A sampler of this process's resident memory split by kind.

The peak RSS (VmHWM) counts every resident page, including pages of
files mapped into memory (a reader that mmaps a 3 GB file and touches all
of it "uses" 3 GB, though the kernel can drop those pages at any time).
This thread samples /proc/self/status every `interval` seconds and keeps
the peaks of RssAnon (heap: what really costs memory) and RssFile, so the
results can tell the two apart. Linux only; elsewhere it records nothing.
"""
from __future__ import annotations

import threading


class RssSampler:
    def __init__(self, interval=0.02):
        self.interval = interval
        self.peak_anon_kb = 0
        self.peak_file_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        self.peak_anon_kb = max(self.peak_anon_kb,
                                                int(line.split()[1]))
                    elif line.startswith("RssFile:"):
                        self.peak_file_kb = max(self.peak_file_kb,
                                                int(line.split()[1]))
        except OSError:
            pass

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def result(self):
        return {"peak_rss_anon_mb": self.peak_anon_kb / 1024.0,
                "peak_rss_file_mb": self.peak_file_kb / 1024.0}
