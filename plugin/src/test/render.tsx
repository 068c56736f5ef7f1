import React, { ComponentType, useState } from 'react';
import { render, screen, within } from '@testing-library/react';
import userEvent, { UserEvent } from '@testing-library/user-event';

/**
 * Renders a controlled editor the way Grafana does: the harness keeps the value, hands every
 * onChange back as the new value and records it in `onChange`.
 */
export function renderControlled<Q, P extends { query: Q; onChange: (q: Q) => void }>(
  Editor: ComponentType<P>,
  initial: Q,
  props: Omit<P, 'query' | 'onChange'>
) {
  const onChange = jest.fn<void, [Q]>();
  function Harness() {
    const [query, setQuery] = useState(initial);
    const all = {
      ...props,
      query,
      onChange: (q: Q) => {
        setQuery(q);
        onChange(q);
      },
    } as P;
    return <Editor {...all} />;
  }
  const user = userEvent.setup();
  const result = render(<Harness />);
  /** The value the editor last reported. */
  const last = (): Q => {
    expect(onChange).toHaveBeenCalled();
    return onChange.mock.calls[onChange.mock.calls.length - 1][0];
  };
  return { ...result, user, onChange, last };
}

/** Opens a Grafana Select by its accessible name and clicks the option with this text. */
export async function pick(user: UserEvent, selectName: string, option: string | RegExp) {
  await user.click(screen.getByLabelText(selectName));
  const menu = await screen.findByLabelText('Select options menu');
  await user.click(within(menu).getByText(option));
}

/** The option texts of the open Select menu. */
export async function openOptions(user: UserEvent, selectName: string): Promise<HTMLElement> {
  await user.click(screen.getByLabelText(selectName));
  return screen.findByLabelText('Select options menu');
}
