/* The compiled twin of tokens._seal: a token from its claims, in one call.
 *
 * seal(claims, keyed, max_size) -> str | None
 *
 * claims:   the canonical JSON of a token's claims (bytes);
 * keyed:    the HMAC-SHA256 object of the token's purpose and key (tokens._keyed: OpenSSL's,
 *           or the hmac module's), copied for the message as tokens._mac copies it;
 * max_size: the largest token allowed (max_state_size).
 *
 * Returns "<payload>.<signature>": the payload is the claims in base64url without padding,
 * the signature the HMAC of the payload's text in base64url without padding, exactly as
 * tokens._seal(purpose, tokens._b64(claims), keyed, max_size) spells it (test_tokens holds the
 * two equal); None when that token would be longer than max_size (the caller raises, as
 * _seal does). Nothing here is cryptography: the HMAC is the keyed object's own (its copy,
 * update and digest), and the base64url below is the standard alphabet's encoding.
 *
 * Why in C: a page signs two tokens a form, and in Python the payload's encoding, the three
 * calls of the HMAC and the signature's encoding are some ten interpreted steps a token. It is
 * optional like the scanner's engine: without a C compiler tokens._seal does the same. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define DIGEST_SIZE 32        /* SHA-256 */
#define SIGNATURE_LENGTH 43   /* its base64url, unpadded */

static PyObject *name_copy, *name_update, *name_digest;

static const char ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The base64url length of n bytes, without padding. */
static Py_ssize_t encoded_length(Py_ssize_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* in[0:n] in base64url without padding, into out (encoded_length(n) bytes). */
static void encode(const unsigned char *in, Py_ssize_t n, char *out)
{
    Py_ssize_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned long group = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
        *out++ = ALPHABET[group >> 18];
        *out++ = ALPHABET[group >> 12 & 63];
        *out++ = ALPHABET[group >> 6 & 63];
        *out++ = ALPHABET[group & 63];
    }
    if (n - i == 1) {
        unsigned long group = (unsigned long)in[i] << 16;
        *out++ = ALPHABET[group >> 18];
        *out++ = ALPHABET[group >> 12 & 63];
    }
    else if (n - i == 2) {
        unsigned long group = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
        *out++ = ALPHABET[group >> 18];
        *out++ = ALPHABET[group >> 12 & 63];
        *out++ = ALPHABET[group >> 6 & 63];
    }
}

/* The HMAC of payload under keyed: keyed.copy(), .update(payload), .digest(). */
static PyObject *mac_of(PyObject *keyed, PyObject *payload)
{
    PyObject *mac = PyObject_CallMethodNoArgs(keyed, name_copy), *result, *digest = NULL;
    if (mac == NULL)
        return NULL;
    result = PyObject_CallMethodOneArg(mac, name_update, payload);
    if (result != NULL) {
        Py_DECREF(result);
        digest = PyObject_CallMethodNoArgs(mac, name_digest);
    }
    Py_DECREF(mac);
    if (digest != NULL && !(PyBytes_Check(digest) && PyBytes_GET_SIZE(digest) == DIGEST_SIZE)) {
        Py_DECREF(digest);
        PyErr_SetString(PyExc_ValueError, "seal: the keyed object is not HMAC-SHA256");
        return NULL;
    }
    return digest;
}

static PyObject *seal(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer claims;
    PyObject *payload, *digest, *token;
    Py_ssize_t payload_length, max_size;
    char *text;
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "seal(claims, keyed, max_size) takes 3 arguments");
        return NULL;
    }
    max_size = PyLong_AsSsize_t(args[2]);
    if (max_size == -1 && PyErr_Occurred())
        return NULL;
    if (PyObject_GetBuffer(args[0], &claims, PyBUF_SIMPLE) < 0)
        return NULL;
    /* Over max_size: not signed only to be thrown away. (The first test keeps the length
     * below from overflowing: past it, the payload alone is longer than max_size.) */
    if (max_size < 1 + SIGNATURE_LENGTH
        || claims.len / 3 > (max_size - 1 - SIGNATURE_LENGTH) / 4) {
        PyBuffer_Release(&claims);
        Py_RETURN_NONE;
    }
    payload_length = encoded_length(claims.len);
    if (payload_length + 1 + SIGNATURE_LENGTH > max_size) {
        PyBuffer_Release(&claims);
        Py_RETURN_NONE;
    }
    payload = PyBytes_FromStringAndSize(NULL, payload_length);
    if (payload == NULL) {
        PyBuffer_Release(&claims);
        return NULL;
    }
    encode(claims.buf, claims.len, PyBytes_AS_STRING(payload));
    PyBuffer_Release(&claims);
    digest = mac_of(args[1], payload);
    if (digest == NULL) {
        Py_DECREF(payload);
        return NULL;
    }
    token = PyUnicode_New(payload_length + 1 + SIGNATURE_LENGTH, 127);
    if (token != NULL) {
        text = (char *)PyUnicode_1BYTE_DATA(token);
        memcpy(text, PyBytes_AS_STRING(payload), (size_t)payload_length);
        text[payload_length] = '.';
        encode((const unsigned char *)PyBytes_AS_STRING(digest), DIGEST_SIZE,
               text + payload_length + 1);
    }
    Py_DECREF(payload);
    Py_DECREF(digest);
    return token;
}

static PyMethodDef methods[] = {
    {"seal", (PyCFunction)(void (*)(void))seal, METH_FASTCALL,
     "seal(claims, keyed, max_size) -> str | None: the token of claims (see the module)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cseal_module = {
    PyModuleDef_HEAD_INIT, "_cseal", "The compiled twin of tokens._seal.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cseal(void)
{
    name_copy = PyUnicode_InternFromString("copy");
    name_update = PyUnicode_InternFromString("update");
    name_digest = PyUnicode_InternFromString("digest");
    if (name_copy == NULL || name_update == NULL || name_digest == NULL)
        return NULL;
    return PyModule_Create(&cseal_module);
}
