// The Detection module. See README.md, "Architecture".
