/**
 * Which live topics (and how much history) one view of the dashboard needs.
 * Pure: the same filters and metric always give the same plan.
 */
import type { ChartMetric, Filters } from './config.ts';
import { topicName, type TopicMeasure } from './topics.ts';

export type Role = 'chart' | 'rate' | 'revenue' | 'errors' | 'all';

export interface TopicNeed {
  topic: string;
  measure: TopicMeasure;
  eventType: string | null;
  /** Minutes of history to keep (the current minute included). */
  minutes: number;
  /** Ask the query API for anomaly flags and bands. */
  anomaly: boolean;
}

export interface TopicPlan {
  needs: Map<string, TopicNeed>;
  roles: Record<Role, string>;
}

export const CHART_MINUTES = 24 * 60;
export const REVENUE_MINUTES = 60;
export const ERROR_RATE_MINUTES = 15;
export const UNIQUES_MINUTES = 5;

export function planTopics(filters: Filters, metric: ChartMetric, revenueEventType: string, errorEventType: string): TopicPlan {
  const needs = new Map<string, TopicNeed>();
  const want = (measure: TopicMeasure, eventType: string | null, minutes: number, anomaly: boolean): string => {
    const topic = topicName(measure, eventType, filters.dims);
    const seen = needs.get(topic);
    needs.set(topic, {
      topic,
      measure,
      eventType,
      minutes: Math.max(minutes, seen?.minutes ?? 0),
      anomaly: anomaly || (seen?.anomaly ?? false),
    });
    return topic;
  };
  const roles: Record<Role, string> = {
    chart: want(metric === 'value_sum' ? 'value_sum' : 'metrics', filters.eventType, CHART_MINUTES, true),
    rate: want('metrics', filters.eventType, 2, false),
    revenue: want('value_sum', revenueEventType, REVENUE_MINUTES, false),
    errors: want('metrics', errorEventType, ERROR_RATE_MINUTES, false),
    all: want('metrics', null, ERROR_RATE_MINUTES, false),
  };
  return { needs, roles };
}
