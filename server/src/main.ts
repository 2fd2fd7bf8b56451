// The relay is built in the relay-server issue; until then `npm start` says so plainly.
console.error('The Liaison relay is not built yet: see the open "Relay server core" issue.');
process.exitCode = 1;
