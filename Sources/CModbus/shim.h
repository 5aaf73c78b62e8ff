// CModbus: libmodbus for Swift. Re-exports what Swift cannot import from <modbus.h>:
// the #define'd error codes (built on an expression Swift does not evaluate) and the
// function-like macros, as static inline functions / constants with a CModbus_ prefix.
#ifndef EDGEAGENT_CMODBUS_SHIM_H
#define EDGEAGENT_CMODBUS_SHIM_H

#include <errno.h>
#include <stdint.h>
#include <modbus.h>

// libmodbus error codes (errno values above MODBUS_ENOBASE).
static const int CModbus_ENOBASE = MODBUS_ENOBASE;
static const int CModbus_EMBXILFUN = EMBXILFUN;    // illegal function
static const int CModbus_EMBXILADD = EMBXILADD;    // illegal data address
static const int CModbus_EMBXILVAL = EMBXILVAL;    // illegal data value
static const int CModbus_EMBXSFAIL = EMBXSFAIL;    // slave device failure
static const int CModbus_EMBXACK = EMBXACK;        // acknowledge
static const int CModbus_EMBXSBUSY = EMBXSBUSY;    // slave device busy
static const int CModbus_EMBXNACK = EMBXNACK;      // negative acknowledge
static const int CModbus_EMBXMEMPAR = EMBXMEMPAR;  // memory parity error
static const int CModbus_EMBXGPATH = EMBXGPATH;    // gateway path unavailable
static const int CModbus_EMBXGTAR = EMBXGTAR;      // gateway target failed to respond
static const int CModbus_EMBBADCRC = EMBBADCRC;    // invalid CRC
static const int CModbus_EMBBADDATA = EMBBADDATA;  // invalid data
static const int CModbus_EMBBADEXC = EMBBADEXC;    // invalid exception code
static const int CModbus_EMBUNKEXC = EMBUNKEXC;  // unknown exception code
static const int CModbus_EMBMDATA = EMBMDATA;      // too many data
static const int CModbus_EMBBADSLAVE = EMBBADSLAVE;// response not from requested slave

// Protocol limits.
static const int CModbus_MAX_READ_BITS = MODBUS_MAX_READ_BITS;
static const int CModbus_MAX_READ_REGISTERS = MODBUS_MAX_READ_REGISTERS;
static const int CModbus_MAX_WRITE_REGISTERS = MODBUS_MAX_WRITE_REGISTERS;
static const int CModbus_TCP_MAX_ADU_LENGTH = MODBUS_TCP_MAX_ADU_LENGTH;
static const int CModbus_RTU_MAX_ADU_LENGTH = MODBUS_RTU_MAX_ADU_LENGTH;
static const int CModbus_BROADCAST_ADDRESS = MODBUS_BROADCAST_ADDRESS;

// Exception codes as sent on the wire.
static const int CModbus_EXCEPTION_ILLEGAL_FUNCTION = MODBUS_EXCEPTION_ILLEGAL_FUNCTION;
static const int CModbus_EXCEPTION_ILLEGAL_DATA_ADDRESS = MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS;
static const int CModbus_EXCEPTION_ILLEGAL_DATA_VALUE = MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
static const int CModbus_EXCEPTION_SLAVE_OR_SERVER_FAILURE = MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE;
static const int CModbus_EXCEPTION_SLAVE_OR_SERVER_BUSY = MODBUS_EXCEPTION_SLAVE_OR_SERVER_BUSY;

/// errno as a function: read it immediately after a failing libmodbus call.
static inline int CModbus_errno(void) { return errno; }
static inline void CModbus_clear_errno(void) { errno = 0; }

// MODBUS_GET_* / MODBUS_SET_* function-like macros.
static inline uint8_t CModbus_GET_HIGH_BYTE(uint16_t data) { return MODBUS_GET_HIGH_BYTE(data); }
static inline uint8_t CModbus_GET_LOW_BYTE(uint16_t data) { return MODBUS_GET_LOW_BYTE(data); }
static inline uint32_t CModbus_GET_INT32_FROM_INT16(const uint16_t *tab, int index) { return MODBUS_GET_INT32_FROM_INT16(tab, index); }
static inline uint16_t CModbus_GET_INT16_FROM_INT8(const uint8_t *tab, int index) { return MODBUS_GET_INT16_FROM_INT8(tab, index); }

#endif
