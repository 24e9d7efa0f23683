/**
 * The Kafka error codes the group coordinator, the offsets and SASL answer:
 * the wire layer's catalogue (../errors.ts), under the name this folder uses.
 */
import { KafkaError } from '../errors.js';

export const KafkaCode = KafkaError;
export type KafkaCodeValue = (typeof KafkaError)[keyof typeof KafkaError];
