// The seed's workerReq.js: a plain REQ worker, id computed inside (a suffix keeps several apart on one host).
const {zmq, lineaOrdenes, traza, error, adios, conecta} = require('./tsr')
lineaOrdenes("brokerHost brokerPort")
let req = zmq.socket('req')
let id = "W " + require('os').hostname() + (process.env.SUFIJO || '')
req.identity = id
conecta(req, brokerHost, brokerPort)
req.send(['','',''])
function procesaPeticion(cliente, separador, mensaje) {
  traza('procesaPeticion','cliente separador mensaje',[cliente, separador, mensaje])
  setTimeout(()=>{req.send([cliente,'',`${mensaje} ${id}`])}, Number(process.env.RETARDO || 1000))
}
req.on('message', procesaPeticion)
req.on('error', (msg) => {error(`${msg}`)})
process.on('SIGINT', adios([req],"abortado con CTRL-C"))
process.on('SIGTERM', adios([req],"terminado"))
console.log(`worker listo: ${id}`)
