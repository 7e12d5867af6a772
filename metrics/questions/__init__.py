"""Questions in plain language, answered by computation: a deterministic parser maps a question to a typed
`Intent` (metric, filters, time range, comparison, grouping, ranking), which compiles through the cube's
own metric definitions into one read-only, parameterised SELECT. See documents/ask.md."""
