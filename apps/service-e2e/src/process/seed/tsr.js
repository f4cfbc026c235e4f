// The seed's helper module (lab 2's tsr.js), reproduced in its style so that the programs next to it
// are written exactly like the seed's: zeromq's v5 API, globals from the command line, no types.
const zmq = require('zeromq/v5-compat')

function lineaOrdenes(nombres) {
  nombres.split(' ').forEach((nombre, i) => {
    if (process.argv[2 + i] === undefined) error(`falta el argumento ${nombre}`)
    global[nombre] = process.argv[2 + i]
  })
}
function traza(f, nombres, valores) {
  if (process.env.TRAZA) console.log(`${f}: ${nombres} ${valores.join(' ')}`)
}
function error(msg) {
  console.error(msg)
  process.exit(1)
}
function adios(sockets, despedida) {
  return () => {
    console.log(despedida)
    sockets.forEach((s) => s.close())
    process.exit(0)
  }
}
function creaPuntoConexion(socket, port) {
  socket.bindSync(`tcp://*:${port}`)
}
function conecta(socket, host, port) {
  socket.connect(`tcp://${host}:${port}`)
}

module.exports = { zmq, lineaOrdenes, traza, error, adios, creaPuntoConexion, conecta }
