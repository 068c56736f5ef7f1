package generate

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// renderer turns flows into field values for one format.
type renderer struct {
	format  *flowlog.Format
	fields  []flowlog.Field // per column
	version uint8           // the version column's value
	region  string
}

func newRenderer(format *flowlog.Format, region string) *renderer {
	r := &renderer{format: format, region: region, version: 2}
	for i := range format.Len() {
		f := format.Field(i)
		r.fields = append(r.fields, f)
		r.version = max(r.version, uint8(f.Version()))
	}
	return r
}

// has reports whether field f of fl has a value (else it is written "-").
func (r *renderer) has(f flowlog.Field, fl *flow) bool {
	ok := fl.status == flowlog.StatusOK
	switch f {
	case flowlog.Version, flowlog.AccountID, flowlog.InterfaceID, flowlog.Start, flowlog.End,
		flowlog.LogStatus, flowlog.VPCID, flowlog.SubnetID, flowlog.Region, flowlog.AZID:
		return true
	case flowlog.InstanceID:
		return fl.eni.instance != ""
	case flowlog.SublocationType, flowlog.SublocationID:
		return fl.eni.sublocType != ""
	case flowlog.PktSrcAWSService:
		return ok && fl.ssvc != svcNone
	case flowlog.PktDstAWSService:
		return ok && fl.dsvc != svcNone
	case flowlog.TrafficPath:
		return ok && fl.path != 0
	case flowlog.RejectReason:
		return ok && fl.bpa && fl.action == flowlog.Reject
	}
	if f >= flowlog.ECSClusterARN && f <= flowlog.ECSTaskID {
		return fl.eni.ecs != nil && fl.eni.ecs[f-flowlog.ECSClusterARN] != ""
	}
	return ok
}

// uintValue returns the value of a numeric field of fl that has one.
func (r *renderer) uintValue(f flowlog.Field, fl *flow) uint64 {
	switch f {
	case flowlog.Version:
		return uint64(r.version)
	case flowlog.SrcPort:
		return uint64(fl.srcPort)
	case flowlog.DstPort:
		return uint64(fl.dstPort)
	case flowlog.Protocol:
		return uint64(fl.proto)
	case flowlog.Packets:
		return fl.packets
	case flowlog.Bytes:
		return fl.bytes
	case flowlog.Start:
		return uint64(fl.start)
	case flowlog.End:
		return uint64(fl.end)
	case flowlog.TCPFlags:
		return uint64(fl.tcpFlags)
	case flowlog.TrafficPath:
		return uint64(fl.path)
	}
	return 0
}

// appendValue appends the text of field f of fl, which must have a value.
func (r *renderer) appendValue(dst []byte, f flowlog.Field, fl *flow) []byte {
	e := fl.eni
	switch f {
	case flowlog.AccountID:
		return append(dst, e.vpc.account...)
	case flowlog.InterfaceID:
		return append(dst, e.id...)
	case flowlog.SrcAddr:
		return appendAddr(dst, fl.src)
	case flowlog.DstAddr:
		return appendAddr(dst, fl.dst)
	case flowlog.Action:
		return append(dst, fl.action.String()...)
	case flowlog.LogStatus:
		return append(dst, fl.status.String()...)
	case flowlog.VPCID:
		return append(dst, e.vpc.id...)
	case flowlog.SubnetID:
		return append(dst, e.subnet.id...)
	case flowlog.InstanceID:
		return append(dst, e.instance...)
	case flowlog.Type:
		if fl.src.Is4() {
			return append(dst, "IPv4"...)
		}
		return append(dst, "IPv6"...)
	case flowlog.PktSrcAddr:
		return appendAddr(dst, fl.pktSrc)
	case flowlog.PktDstAddr:
		return appendAddr(dst, fl.pktDst)
	case flowlog.Region:
		return append(dst, r.region...)
	case flowlog.AZID:
		return append(dst, e.subnet.az...)
	case flowlog.SublocationType:
		return append(dst, e.sublocType...)
	case flowlog.SublocationID:
		return append(dst, e.sublocID...)
	case flowlog.PktSrcAWSService:
		return append(dst, serviceNames[fl.ssvc]...)
	case flowlog.PktDstAWSService:
		return append(dst, serviceNames[fl.dsvc]...)
	case flowlog.FlowDirection:
		return append(dst, fl.dir.String()...)
	case flowlog.RejectReason:
		return append(dst, "BPA"...)
	}
	if f >= flowlog.ECSClusterARN && f <= flowlog.ECSTaskID {
		return append(dst, e.ecs[f-flowlog.ECSClusterARN]...)
	}
	return strconv.AppendUint(dst, r.uintValue(f, fl), 10)
}

// appendLine appends fl as one line of a text object, without line end.
func (r *renderer) appendLine(dst []byte, fl *flow) []byte {
	for i, f := range r.fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		if !r.has(f, fl) {
			dst = append(dst, '-')
			continue
		}
		dst = r.appendValue(dst, f, fl)
	}
	return dst
}

// record fills rec with fl as a decoder would read it, using buf for the
// values' text; it returns buf extended.
func (r *renderer) record(rec *flowlog.Record, fl *flow, buf []byte) ([]byte, error) {
	rec.Reset(0)
	rec.Format = r.format
	for _, f := range r.fields {
		if !r.has(f, fl) {
			continue
		}
		start := len(buf)
		buf = r.appendValue(buf, f, fl)
		v := buf[start:len(buf):len(buf)]
		if p := rec.SetText(f, v); p != flowlog.NoProblem {
			return buf, fmt.Errorf("generated %s %q: %s", f, v, p)
		}
	}
	if p, f := rec.Check(); p != flowlog.NoProblem {
		return buf, fmt.Errorf("generated record: %s in %s", p, f)
	}
	return buf, nil
}

// appendAddr appends an address in the form AWS writes it.
func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.Is4() {
		return a.AppendTo(dst)
	}
	b := a.As4()
	for i, x := range b {
		if i > 0 {
			dst = append(dst, '.')
		}
		switch {
		case x >= 100:
			dst = append(dst, '0'+x/100, '0'+x/10%10, '0'+x%10)
		case x >= 10:
			dst = append(dst, '0'+x/10, '0'+x%10)
		default:
			dst = append(dst, '0'+x)
		}
	}
	return dst
}
