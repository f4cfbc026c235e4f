/*
 * The bare forwarder of baselines.ts, in C on libzmq: the floor of any ZeroMQ broker, with no
 * JavaScript at all. A ROUTER frontend and a ROUTER backend speaking our wire protocol (docs/protocol.md):
 * requests go round-robin to the workers that announced themselves, replies go straight back.
 * Built by the benchmark when a C compiler and libzmq's headers are installed (native.ts).
 * With CURVE_SECRET_KEY (a Z85 secret key) both sockets are CURVE servers: libzmq's own CURVE, the
 * floor of any CURVE broker. It admits every client key (no ZAP handler): a floor, not a deployment.
 *
 *   [CURVE_SECRET_KEY=Z85] forwarder-c FRONTPORT BACKPORT
 *                                         prints "[forwarder-c] ready", stops on SIGTERM/SIGINT
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_FRAMES 8
#define MAX_WORKERS 64

typedef struct {
  zmq_msg_t part[MAX_FRAMES];
  int count;
} message_t;

static volatile sig_atomic_t stopping = 0;
static void on_signal(int signal_number) { (void)signal_number; stopping = 1; }

/* One whole message if one is waiting; 0 on success. Past MAX_FRAMES frames the last slot is
   reused: such a message matches no shape below and is dropped. */
static int receive_message(void *socket, message_t *m) {
  m->count = 0;
  for (int more = 1; more;) {
    zmq_msg_t *part = &m->part[m->count < MAX_FRAMES ? m->count : MAX_FRAMES - 1];
    if (m->count == MAX_FRAMES) zmq_msg_close(part);
    zmq_msg_init(part);
    if (zmq_msg_recv(part, socket, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(part);
      return -1;
    }
    more = zmq_msg_more(part);
    if (m->count < MAX_FRAMES) m->count++;
  }
  return 0;
}

static void close_message(message_t *m) {
  for (int i = 0; i < m->count; i++) zmq_msg_close(&m->part[i]);
  m->count = 0;
}

/* Sends the given frames as one message; zmq_msg_send takes each frame's content. */
static void send_frames(void *socket, zmq_msg_t *frames[], int count) {
  for (int i = 0; i < count; i++) zmq_msg_send(frames[i], socket, (i < count - 1 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
}

static int same_id(zmq_msg_t *a, zmq_msg_t *b) {
  return zmq_msg_size(a) == zmq_msg_size(b) && memcmp(zmq_msg_data(a), zmq_msg_data(b), zmq_msg_size(a)) == 0;
}

static void *bound_router(void *context, const char *port, const char *curve_secret_key) {
  void *socket = zmq_socket(context, ZMQ_ROUTER);
  int zero = 0, one = 1;
  char endpoint[64];
  zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
  if (curve_secret_key &&
      (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
       zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, curve_secret_key, strlen(curve_secret_key)) != 0)) {
    fprintf(stderr, "CURVE_SECRET_KEY: %s (a Z85 secret key of 40 characters, on a libzmq with CURVE)\n", zmq_strerror(zmq_errno()));
    exit(2);
  }
  snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", atoi(port));
  if (zmq_bind(socket, endpoint) != 0) {
    fprintf(stderr, "cannot bind %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
    exit(1);
  }
  return socket;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: forwarder-c FRONTPORT BACKPORT\n");
    return 2;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  void *context = zmq_ctx_new();
  const char *curve_secret_key = getenv("CURVE_SECRET_KEY");
  void *frontend = bound_router(context, argv[1], curve_secret_key);
  void *backend = bound_router(context, argv[2], curve_secret_key);
  printf("[forwarder-c] ready%s\n", curve_secret_key ? ", CURVE" : "");
  fflush(stdout);

  zmq_msg_t workers[MAX_WORKERS];
  int worker_count = 0, next = 0;
  zmq_pollitem_t items[] = {{backend, 0, ZMQ_POLLIN, 0}, {frontend, 0, ZMQ_POLLIN, 0}};
  message_t m;
  while (!stopping) {
    /* no worker yet: leave requests queued in libzmq, listen to the backend only */
    if (zmq_poll(items, worker_count > 0 ? 2 : 1, 200) < 0) break;
    /* [worker, '', client, '', body]: a reply when client is set, else a ready (or a heartbeat) */
    while (receive_message(backend, &m) == 0) {
      if (m.count == 5 && zmq_msg_size(&m.part[2]) > 0) {
        zmq_msg_t delimiter;
        zmq_msg_init(&delimiter);
        zmq_msg_t *reply[] = {&m.part[2], &delimiter, &m.part[4]};
        send_frames(frontend, reply, 3);
        zmq_msg_close(&delimiter);
      } else if (m.count == 5 && worker_count < MAX_WORKERS) {
        int known = 0;
        for (int i = 0; i < worker_count; i++) known |= same_id(&workers[i], &m.part[0]);
        if (!known) {
          zmq_msg_init(&workers[worker_count]);
          zmq_msg_copy(&workers[worker_count++], &m.part[0]);
        }
      }
      close_message(&m);
    }
    /* [client, '', body] -> [worker, '', client, '', body] */
    while (worker_count > 0 && receive_message(frontend, &m) == 0) {
      if (m.count == 3) {
        zmq_msg_t worker, delimiter1, delimiter2;
        zmq_msg_init(&worker);
        zmq_msg_copy(&worker, &workers[next++ % worker_count]);
        zmq_msg_init(&delimiter1);
        zmq_msg_init(&delimiter2);
        zmq_msg_t *request[] = {&worker, &delimiter1, &m.part[0], &delimiter2, &m.part[2]};
        send_frames(backend, request, 5);
        zmq_msg_close(&worker);
        zmq_msg_close(&delimiter1);
        zmq_msg_close(&delimiter2);
      }
      close_message(&m);
    }
  }
  for (int i = 0; i < worker_count; i++) zmq_msg_close(&workers[i]);
  zmq_close(frontend);
  zmq_close(backend);
  zmq_ctx_term(context);
  return 0;
}
