// @grafana/ui draws icons with react-inlinesvg, which fetches each SVG and updates state when it
// arrives: outside act() in tests and without a server. A plain <svg> stands in, as in
// create-plugin's Jest setup.
import React, { Ref } from 'react';

interface Props extends React.SVGProps<SVGSVGElement> {
  src: string;
  innerRef?: Ref<SVGSVGElement>;
  loader?: React.ReactNode;
  cacheRequests?: boolean;
  preProcessor?: unknown;
  onLoad?: () => void;
  title?: string;
}

export default function InlineSVG({ src, innerRef, loader: _l, cacheRequests: _c, preProcessor: _p, onLoad: _o, title, ...rest }: Props) {
  const name = src.replace(/^.*\//, '').replace(/\.svg$/, '');
  return (
    <svg id={name} ref={innerRef} {...rest}>
      {title && <title>{title}</title>}
    </svg>
  );
}

export const cacheStore: Record<string, unknown> = {};
