// The Runtime module. See README.md, "Architecture".
