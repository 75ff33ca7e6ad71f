export { startEmulator, type Emulator, type EmulatorOptions, type InFlight, type RecordedRequest } from './server.ts';
export type { EmulatedProvider, Pacing, ScriptedResponse } from './script.ts';
