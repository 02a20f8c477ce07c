import { SANDBOX_DEFAULTS } from '../../src/config.js';
import type { SandboxComponent } from '../../src/sandbox/index.js';

/**
 * A sandbox component whose Token and EncodingAESKey are not the public demo ones, for tests that run the
 * platform in real mode against a loopback sandbox: real mode refuses the demo values.
 */
export const TEST_COMPONENT: SandboxComponent = {
  appid: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID,
  secret: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_SECRET,
  token: 'wxopenRealModeTestToken',
  encodingAesKey: 'dGVzdHJlYWxtb2RlZW5jb2RpbmdhZXNrZXl3eG9wZW4',
};
