"""Campaigns as data: their settings and limits, the default campaign loaded at `advocacy init`,
and the files `advocacy export` writes back."""
