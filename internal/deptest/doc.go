// Package deptest holds the test that keeps the pure core pure: quant, npu,
// cortical and pns (without its I/O sub-packages) may not import actors,
// NATS, memberlist, protoactor or generated protobuf code (DESIGN.md,
// "Packages and the direction of their imports").
package deptest
