// Package natsio connects pns to NATS: the sensor bridge that feeds a
// pns.Intake from <prefix>.<brain>.sensor.<area>, the motor publisher that
// sends every OPU area's fired neurons on <prefix>.<brain>.motor.<area> after
// each burst, the protobuf codecs of SensorFrame and MotorFrame
// (proto/brain/v1), and a small client for programs.
//
// # Wire formats
//
// A sensor message is either a protobuf brain.v1.SensorFrame or a FEAGI byte
// container version 4 with XYZP structures (type 11); they are told apart by
// the first byte (pns.IsContainer). A protobuf frame names its area in its
// area field or, when that is empty, through the subject's last token; when
// both name known areas they must agree. A FEAGI container names its areas
// by their 8-byte IDs, so its subject token is not used: a FEAGI bridge may
// publish whole multi-area containers on any sensor subject, e.g.
// spikemesh.brain.sensor.all. FEAGI containers carry no burst stamp and are
// meant for the next burst.
//
// A sensor message sent as a NATS request (with a reply subject) is
// answered with a JSON acknowledgement ([Ack]): ok with the area, its name
// and the burst the frame lands in, or the kind of problem and its message.
// Messages without a reply subject are taken the same way and answered by
// nothing. A protobuf frame whose area is named in a way that cannot be a
// subject token (a name with spaces) is sent on the token pns.AnyToken
// ("all") with the name in its area field.
//
// The brain answers requests on <prefix>.<brain>.areas with its table of
// areas as JSON ([AreaTable], [ServeAreas]): ID, the ID as the genome writes
// it, name, kind and dimensions of each. Clients use it to name areas
// ([AreaTable.Find]) and to show names beside IDs.
//
// The brain answers brain.v1.ClusterStatusRequest requests on
// <prefix>.<brain>.cluster.status with a brain.v1.ClusterStatus: members,
// placement of areas, checkpoints and recoveries ([ServeClusterStatus],
// [RequestClusterStatus]). A refusal (a malformed request, no status yet)
// comes as an empty answer with the Nats-Service-Error and
// Nats-Service-Error-Code headers of NATS services.
//
// A motor message is a protobuf brain.v1.MotorFrame by default, or with
// WithFormat(FormatFEAGI) a FEAGI container holding the one area; its
// increment counter is the burst modulo 65,536 and the full burst number
// travels in the NATS header "Spikemesh-Burst". A frame is published after
// every burst, also when the area fired nothing (an empty frame).
//
// # API
//
//	b, err := natsio.SubscribeSensors(nc, subjects, intake, natsio.WithLogger(log)) // feeds the intake
//	pub, err := natsio.NewMotorPublisher(nc, subjects, areas, natsio.WithFormat(natsio.FormatProto))
//	err = pub.Publish(burst, areaIndex, out.Fired, out.Potentials) // after each burst, per OPU area
//	c, err := natsio.Dial("nats://127.0.0.1:4222", pns.DefaultSubjects())
//	err = c.SendSensor("c__lef", points)
//	ack, err := c.RequestSensor(ctx, "Left eye", 0, points) // ack.Frames[0].Burst: where it landed
//	table, err := c.Areas(ctx)                               // table.Find("o__mot")
//	sub, err := c.WatchMotor("", func(f pns.Frame) { ... }) // "" = every area
//
// Tests of any package can start a real embedded server with
// pns/natsio/natstest (Start, Connect, ConnectInProcess).
//
// # Concurrency and failures
//
// SensorBridge, MotorPublisher and Client are safe for concurrent use. Bad
// sensor messages never stop anything: each is counted in the intake (kind
// malformed, oversized or unknown-area), logged at most once per kind per
// log interval (default 10 s) with the number suppressed since, and dropped.
// Messages NATS itself dropped because the bridge fell behind (slow
// consumer) are reported by SensorBridge.SlowConsumerDrops.
package natsio
