// The Simulator module. See README.md, "Architecture".
