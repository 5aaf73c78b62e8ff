// The Summaries module. See README.md, "Architecture".
