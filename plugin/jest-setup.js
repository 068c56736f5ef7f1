// Extends the create-plugin Jest setup in .config/ (do not edit that folder).
import './.config/jest-setup';

// jsdom lacks observers @grafana/ui uses.
class ObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
Object.defineProperty(window, 'ResizeObserver', {
  writable: true,
  value: ObserverStub,
});
Object.defineProperty(window, 'IntersectionObserver', {
  writable: true,
  value: ObserverStub,
});
