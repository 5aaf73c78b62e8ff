// The ModbusServer module. See README.md, "Architecture".
