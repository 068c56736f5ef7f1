package awssync

import (
	"net/netip"
	"strings"
	"sync"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// Directory is what the latest syncs say of interfaces: where each is (its
// VPC, subnet, zone and instance) and which interface each private address
// of a VPC belongs to. The pipeline consults it after what the flow logs
// themselves taught (pipeline.Options.Directory): it names the owner of an
// address that no record has shown yet (a new interface's first batches,
// v2–v4 records without pkt-srcaddr), and fills in the VPC of records
// without vpc-id. It is safe for concurrent use; each Update replaces what
// one account and region said.
type Directory struct {
	mu    sync.RWMutex
	parts map[string]directoryPart // by account and region
	// merged over the parts, rebuilt by Update
	ifaces map[string]aggregate.Meta
	owners map[string]string // aggregate.OwnerKey(vpc, canonical address) → interface
	// byAddr is, per canonical address alone, its interface when only
	// one holds it in any VPC ("" when several do).
	byAddr map[string]string
}

type directoryPart struct {
	ifaces map[string]aggregate.Meta
	owners map[string]string
}

// NewDirectory returns an empty Directory.
func NewDirectory() *Directory {
	return &Directory{parts: map[string]directoryPart{}, ifaces: map[string]aggregate.Meta{}, owners: map[string]string{}, byAddr: map[string]string{}}
}

// Update replaces what the directory knows of account's region by the
// interfaces of res. Ids, relations and addresses out of AWS's shapes are
// left out, as Series leaves them out of labels.
func (d *Directory) Update(account string, res Result) {
	p := directoryPart{ifaces: map[string]aggregate.Meta{}, owners: map[string]string{}}
	valid := func(f flowlog.Field, v string) string {
		if v != "" && flowlog.ValidString(f, []byte(v)) {
			return v
		}
		return ""
	}
	for _, e := range res.Interfaces {
		if e.Kind != KindInterface || !flowlog.ValidString(flowlog.InterfaceID, []byte(e.ID)) {
			continue
		}
		m := aggregate.Meta{VPC: valid(flowlog.VPCID, e.VPCID), Subnet: valid(flowlog.SubnetID, e.SubnetID),
			AZ: valid(flowlog.AZID, e.AZID), Instance: valid(flowlog.InstanceID, e.InstanceID)}
		p.ifaces[e.ID] = m
		if m.VPC == "" {
			continue // private addresses repeat across VPCs: no owner without one
		}
		for _, a := range e.Addresses {
			if addr, ok := canonical(a); ok {
				p.owners[aggregate.OwnerKey(m.VPC, addr)] = e.ID
			}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.parts[account+"/"+res.Region] = p
	d.ifaces = make(map[string]aggregate.Meta, len(d.ifaces))
	d.owners = make(map[string]string, len(d.owners))
	d.byAddr = make(map[string]string, len(d.byAddr))
	for _, p := range d.parts {
		for k, v := range p.ifaces {
			d.ifaces[k] = v
		}
		for k, v := range p.owners {
			d.owners[k] = v
			_, addr, _ := strings.Cut(k, " ")
			if prev, ok := d.byAddr[addr]; ok && prev != v {
				v = "" // held in two VPCs: the address alone names no interface
			}
			d.byAddr[addr] = v
		}
	}
}

// canonical returns an address in netip's form (IPv6 compressed and lower
// case), so that a flow log's text and EC2's meet.
func canonical(a string) (string, bool) {
	addr, err := netip.ParseAddr(a)
	if err != nil || addr.Zone() != "" {
		return "", false
	}
	return addr.Unmap().String(), true
}

// Interface returns where the interface is, as the latest sync of its
// account and region said.
func (d *Directory) Interface(iface string) (aggregate.Meta, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	m, ok := d.ifaces[iface]
	return m, ok
}

// Owner returns the interface that holds the private address addr in the
// VPC, as the latest sync said; else, when only one interface holds it in
// any VPC, that one (traffic to a peered VPC).
func (d *Directory) Owner(vpc, addr string) (string, bool) {
	a, ok := canonical(addr)
	if !ok {
		return "", false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if iface, ok := d.owners[aggregate.OwnerKey(vpc, a)]; ok {
		return iface, true
	}
	if iface := d.byAddr[a]; iface != "" {
		return iface, true
	}
	return "", false
}

// Len returns how many interfaces and addresses the directory holds.
func (d *Directory) Len() (interfaces, addresses int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.ifaces), len(d.owners)
}
