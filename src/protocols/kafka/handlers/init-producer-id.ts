/**
 * InitProducerId (key 22, v0–v4): an id for an idempotent producer
 * (producers.ts). Asked again with its id and epoch (v3+, KIP-360), the
 * producer keeps its id with the next epoch. Transactions are not served:
 * a transactional id is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
 */
import type { ApiHandler } from '../api.js';
import { KafkaError } from '../errors.js';
import type { Producers } from '../producers.js';

interface InitProducerIdRequest {
  transactionalId: string | null;
  producerId: bigint;
  producerEpoch: number;
}

export function initProducerIdHandler(producers: Producers): ApiHandler<InitProducerIdRequest> {
  return {
    key: 22,
    name: 'InitProducerId',
    minVersion: 0,
    maxVersion: 4,
    handle(_ctx, req) {
      if (req.transactionalId !== null) {
        return {
          throttleTimeMs: 0,
          errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          producerId: -1n,
          producerEpoch: -1,
        };
      }
      if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < 0x7ffe) {
        return {
          throttleTimeMs: 0,
          errorCode: 0,
          producerId: req.producerId,
          producerEpoch: req.producerEpoch + 1,
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        producerId: producers.newProducerId(),
        producerEpoch: 0,
      };
    },
  };
}
