// Package flowlog holds the AWS VPC flow log record model: the fields that
// flow log versions 2 to 8 define, field lists (formats), and the typed record
// that decoders fill and consumers read without per-record allocation.
package flowlog

import "strings"

// Field identifies one known flow log field. Fields are numbered in the order
// AWS documents them, so a Set of fields fits in one uint64.
type Field uint8

// The known fields of flow log versions 2 to 8.
const (
	Version Field = iota
	AccountID
	InterfaceID
	SrcAddr
	DstAddr
	SrcPort
	DstPort
	Protocol
	Packets
	Bytes
	Start
	End
	Action
	LogStatus
	// Version 3.
	VPCID
	SubnetID
	InstanceID
	TCPFlags
	Type
	PktSrcAddr
	PktDstAddr
	// Version 4.
	Region
	AZID
	SublocationType
	SublocationID
	// Version 5.
	PktSrcAWSService
	PktDstAWSService
	FlowDirection
	TrafficPath
	// Version 7.
	ECSClusterARN
	ECSClusterName
	ECSContainerInstanceARN
	ECSContainerInstanceID
	ECSContainerID
	ECSSecondContainerID
	ECSServiceName
	ECSTaskDefinitionARN
	ECSTaskARN
	ECSTaskID
	// Version 8.
	RejectReason

	// NumFields is the number of known fields.
	NumFields
	// Unknown marks a column whose name is not a known field.
	Unknown Field = 255
)

// Kind says how a field's value is typed in a Record.
type Kind uint8

// Field kinds.
const (
	// KindString values are kept as the bytes AWS wrote.
	KindString Kind = iota
	// KindUint values are non-negative integers, bounded per field.
	KindUint
	// KindAddr values are IPv4 or IPv6 addresses.
	KindAddr
	// KindEnum values are one of a few words (action, log-status,
	// flow-direction).
	KindEnum
)

type fieldInfo struct {
	name    string
	kind    Kind
	max     uint64 // KindUint: largest valid value
	version int    // flow log version that introduced the field
}

const maxInt64 = 1<<63 - 1

var fields = [NumFields]fieldInfo{
	Version:                 {"version", KindUint, 255, 2},
	AccountID:               {"account-id", KindString, 0, 2},
	InterfaceID:             {"interface-id", KindString, 0, 2},
	SrcAddr:                 {"srcaddr", KindAddr, 0, 2},
	DstAddr:                 {"dstaddr", KindAddr, 0, 2},
	SrcPort:                 {"srcport", KindUint, 65535, 2},
	DstPort:                 {"dstport", KindUint, 65535, 2},
	Protocol:                {"protocol", KindUint, 255, 2},
	Packets:                 {"packets", KindUint, maxInt64, 2},
	Bytes:                   {"bytes", KindUint, maxInt64, 2},
	Start:                   {"start", KindUint, maxInt64, 2},
	End:                     {"end", KindUint, maxInt64, 2},
	Action:                  {"action", KindEnum, 0, 2},
	LogStatus:               {"log-status", KindEnum, 0, 2},
	VPCID:                   {"vpc-id", KindString, 0, 3},
	SubnetID:                {"subnet-id", KindString, 0, 3},
	InstanceID:              {"instance-id", KindString, 0, 3},
	TCPFlags:                {"tcp-flags", KindUint, 65535, 3},
	Type:                    {"type", KindString, 0, 3},
	PktSrcAddr:              {"pkt-srcaddr", KindAddr, 0, 3},
	PktDstAddr:              {"pkt-dstaddr", KindAddr, 0, 3},
	Region:                  {"region", KindString, 0, 4},
	AZID:                    {"az-id", KindString, 0, 4},
	SublocationType:         {"sublocation-type", KindString, 0, 4},
	SublocationID:           {"sublocation-id", KindString, 0, 4},
	PktSrcAWSService:        {"pkt-src-aws-service", KindString, 0, 5},
	PktDstAWSService:        {"pkt-dst-aws-service", KindString, 0, 5},
	FlowDirection:           {"flow-direction", KindEnum, 0, 5},
	TrafficPath:             {"traffic-path", KindUint, 255, 5},
	ECSClusterARN:           {"ecs-cluster-arn", KindString, 0, 7},
	ECSClusterName:          {"ecs-cluster-name", KindString, 0, 7},
	ECSContainerInstanceARN: {"ecs-container-instance-arn", KindString, 0, 7},
	ECSContainerInstanceID:  {"ecs-container-instance-id", KindString, 0, 7},
	ECSContainerID:          {"ecs-container-id", KindString, 0, 7},
	ECSSecondContainerID:    {"ecs-second-container-id", KindString, 0, 7},
	ECSServiceName:          {"ecs-service-name", KindString, 0, 7},
	ECSTaskDefinitionARN:    {"ecs-task-definition-arn", KindString, 0, 7},
	ECSTaskARN:              {"ecs-task-arn", KindString, 0, 7},
	ECSTaskID:               {"ecs-task-id", KindString, 0, 7},
	RejectReason:            {"reject-reason", KindString, 0, 8},
}

var byName = func() map[string]Field {
	m := make(map[string]Field, NumFields)
	for f := Field(0); f < NumFields; f++ {
		m[fields[f].name] = f
	}
	return m
}()

// String returns the field's name as AWS writes it in a header line, such as
// "log-status".
func (f Field) String() string {
	if f < NumFields {
		return fields[f].name
	}
	return "unknown"
}

// ParquetName returns the column name AWS uses for the field in Parquet
// objects: the field name with '-' replaced by '_'.
func (f Field) ParquetName() string { return strings.ReplaceAll(f.String(), "-", "_") }

// Kind returns how the field's value is typed (KindString for Unknown).
func (f Field) Kind() Kind {
	if f >= NumFields {
		return KindString
	}
	return fields[f].kind
}

// Max returns the largest valid value of a KindUint field (0 for others).
func (f Field) Max() uint64 {
	if f >= NumFields {
		return 0
	}
	return fields[f].max
}

// Version returns the flow log version that introduced the field (0 for
// Unknown).
func (f Field) Version() int {
	if f >= NumFields {
		return 0
	}
	return fields[f].version
}

// Lookup returns the field with the given name. It accepts both the text
// spelling ("log-status") and the Parquet one ("log_status").
func Lookup(name string) (Field, bool) {
	if f, ok := byName[name]; ok {
		return f, true
	}
	if strings.IndexByte(name, '_') >= 0 {
		f, ok := byName[strings.ReplaceAll(name, "_", "-")]
		return f, ok
	}
	return Unknown, false
}

// Set is a set of known fields.
type Set uint64

// Has reports whether f is in the set.
func (s Set) Has(f Field) bool { return s&(1<<f) != 0 }

// With returns the set with f added.
func (s Set) With(f Field) Set { return s | 1<<f }

// SetOf returns the set of the given fields.
func SetOf(fs ...Field) Set {
	var s Set
	for _, f := range fs {
		s = s.With(f)
	}
	return s
}

// required lists the fields without which traffic cannot be accounted.
var required = [...]Field{Bytes, Packets, Start, End, Action, InterfaceID, LogStatus}

// Required returns the fields without which traffic cannot be accounted: an
// object whose header lacks one of them fails as a whole.
func Required() []Field { return append([]Field(nil), required[:]...) }

// FieldList names fields for a message: "bytes, start" (or with Parquet
// names: "log_status").
func FieldList(fs []Field, parquet bool) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.String()
		if parquet {
			names[i] = f.ParquetName()
		}
	}
	return strings.Join(names, ", ")
}
