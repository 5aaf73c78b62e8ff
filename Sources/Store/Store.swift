// The Store module. See README.md, "Architecture".
