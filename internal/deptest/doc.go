// Package deptest holds the test that keeps the pure core pure: quant, npu,
// cortical and pns (without its I/O sub-packages) may not import actors,
// NATS, memberlist, protoactor or generated protobuf code (the README's
// "How it is built" gives the direction of imports).
package deptest
