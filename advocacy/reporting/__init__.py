"""What was sent, where, and what is stuck: the rollup, the dashboard's figures, stats, metrics,
the hand-over report and its charts."""
