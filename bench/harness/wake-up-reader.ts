/** The sleeping reader of `wakeUpCostMicros`: counts its reads and tells its CPU time when asked. */
import { connect } from 'node:net';

const socket = connect(Number(process.argv[2]), '127.0.0.1');
let reads = 0;
socket.on('data', () => void reads++);
socket.on('error', () => process.exit(0));
process.on('message', () => {
  const { user, system } = process.cpuUsage();
  process.send?.({ reads, cpuMicros: user + system });
});
process.on('disconnect', () => process.exit(0));
