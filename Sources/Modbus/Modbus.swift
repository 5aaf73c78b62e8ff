// The Modbus module. See README.md, "Architecture".
