"""Support for the tests and the benches, never imported by the app itself.

stack: the whole stack as processes on loopback (Redis, PostgreSQL, sink, gunicorn, workers);
ledger: what a run accepted and the proof none of it was lost; stream: supporters writing
while faults happen. Kept in the package (as Indico keeps indico/testing) so the tests and
bench/ share it without either importing the other.
"""
