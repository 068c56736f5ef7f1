/**
 * Readable names for the raw label values the collector writes (AWS writes numbers and codes).
 * Used as option descriptions in the value pickers; the stored values stay raw.
 */
const NAMES: Record<string, Record<string, string>> = {
  protocol: {
    '1': 'ICMP',
    '6': 'TCP',
    '17': 'UDP',
    '47': 'GRE',
    '50': 'ESP',
    '51': 'AH',
    '58': 'ICMPv6',
    '132': 'SCTP',
  },
  traffic_path: {
    '1': 'Another resource in the same VPC',
    '2': 'Internet gateway or gateway VPC endpoint',
    '3': 'Virtual private gateway',
    '4': 'Intra-region VPC peering connection',
    '5': 'Inter-region VPC peering connection',
    '6': 'Local gateway',
    '7': 'Gateway VPC endpoint (Nitro)',
    '8': 'Internet gateway (Nitro)',
  },
  flow_direction: { ingress: 'Ingress', egress: 'Egress' },
  action: { ACCEPT: 'Accepted', REJECT: 'Rejected' },
  reject_reason: { BPA: 'Block Public Access' },
};

/** A readable name for a label's value, or undefined when there is none. */
export function valueDisplayName(label: string, value: string): string | undefined {
  if (value === '-') {
    return 'absent';
  }
  if (value === 'other') {
    return 'everything outside the top K';
  }
  return NAMES[label]?.[value];
}
