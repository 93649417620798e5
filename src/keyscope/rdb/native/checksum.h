/*
 * The CRC-64 of the file, checked against its trailer. On a file descriptor a second thread
 * reads the file on its own while the reader parses it; a stream is summed inline
 * (source.c's compact feeds it).
 */
#ifndef KEYSCOPE_NATIVE_CHECKSUM_H
#define KEYSCOPE_NATIVE_CHECKSUM_H

#include "reader.h"

/* After the header: starts the thread where it applies (fd input, checked, version >= 5). */
void start_crc_thread(Reader *r);
void crc_thread_stop(Reader *r);
/* At the EOF opcode: reads the stored checksum and compares it. */
void read_trailer(Reader *r);

#endif
