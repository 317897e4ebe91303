package pns

import (
	"fmt"
	"strings"
)

// Default subject parts (docs/cluster.md lists every subject).
const (
	DefaultPrefix = "spikemesh"
	DefaultBrain  = "brain"
)

// Subjects builds the NATS subjects of one brain:
// <prefix>.<brain>.sensor.<area> and <prefix>.<brain>.motor.<area>.
type Subjects struct {
	// Prefix is one or more dot-separated tokens; "" means DefaultPrefix.
	Prefix string
	// Brain is one token naming the brain; "" means DefaultBrain.
	Brain string
}

// DefaultSubjects returns the subjects of brain "brain" under "spikemesh".
func DefaultSubjects() Subjects { return Subjects{Prefix: DefaultPrefix, Brain: DefaultBrain} }

// Validate reports a prefix or brain name that would not make valid subjects.
func (s Subjects) Validate() error {
	s = s.orDefaults()
	for _, tok := range strings.Split(s.Prefix, ".") {
		if err := checkToken(tok); err != nil {
			return fmt.Errorf("pns: subject prefix %q: %w", s.Prefix, err)
		}
	}
	if err := checkToken(s.Brain); err != nil {
		return fmt.Errorf("pns: brain name %q: %w", s.Brain, err)
	}
	return nil
}

func (s Subjects) orDefaults() Subjects {
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	if s.Brain == "" {
		s.Brain = DefaultBrain
	}
	return s
}

func (s Subjects) base(kind string) string {
	s = s.orDefaults()
	return s.Prefix + "." + s.Brain + "." + kind + "."
}

// Sensor is the subject of sensor frames for the area with this token.
func (s Subjects) Sensor(token string) string { return s.base("sensor") + token }

// Motor is the subject of motor frames of the area with this token.
func (s Subjects) Motor(token string) string { return s.base("motor") + token }

// Areas is the subject on which the brain answers requests for its table of
// areas (natsio.ServeAreas).
func (s Subjects) Areas() string {
	s = s.orDefaults()
	return s.Prefix + "." + s.Brain + ".areas"
}

// SensorAll matches the sensor frames of every area.
func (s Subjects) SensorAll() string { return s.base("sensor") + "*" }

// MotorAll matches the motor frames of every area.
func (s Subjects) MotorAll() string { return s.base("motor") + "*" }

// LastToken returns the part of a subject after its last dot: the area token
// of a sensor or motor subject.
func LastToken(subject string) string {
	return subject[strings.LastIndexByte(subject, '.')+1:]
}
