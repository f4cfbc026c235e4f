// The seed's cliente.js: a plain REQ client that sends its id and prints the answer.
const {zmq, lineaOrdenes, traza, error, adios, conecta} = require('./tsr')
lineaOrdenes("brokerHost brokerPort")
let req = zmq.socket('req')
let id = "C " + require('os').hostname() + (process.env.SUFIJO || '')
req.identity = id
conecta(req, brokerHost, brokerPort)
req.send(id)
function procesaRespuesta(msg) {
  traza('procesaRespuesta','msg',[msg])
  adios([req], `Recibido: ${msg}. Adios`)()
}
req.on('message', procesaRespuesta)
req.on('error', (msg) => {error(`${msg}`)})
process.on('SIGINT', adios([req],"abortado con CTRL-C"))
